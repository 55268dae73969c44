with customers as (
    select * from {{ ref('stg_customers') }}
),

order_summary as (
    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as order_count,
        sum(amount_paid) as lifetime_value
    from {{ ref('fct_orders') }}
    where status not in ('cancelled', 'returned')
    group by customer_id
)

select
    customers.customer_id,
    customers.email,
    customers.full_name,
    countries.country_name,
    customers.signed_up_at,
    order_summary.first_order_at,
    order_summary.last_order_at,
    coalesce(order_summary.order_count, 0) as order_count,
    coalesce(order_summary.lifetime_value, 0) as lifetime_value
from customers
left join order_summary on order_summary.customer_id = customers.customer_id
left join {{ ref('country_codes') }} as countries on countries.country_code = customers.country_code
