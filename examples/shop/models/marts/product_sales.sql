with ranked as (
    select
        product_id,
        product_name,
        category,
        sum(quantity) as units_sold,
        sum(line_amount) as sales_amount,
        row_number() over (partition by category order by sum(line_amount) desc) as rank_in_category
    from {{ ref('int_order_lines') }}
    group by product_id, product_name, category
)

select * from ranked
qualify rank_in_category <= 10
