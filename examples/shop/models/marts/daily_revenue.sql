select
    date_trunc('day', ordered_at) as order_date,
    count(distinct order_id) as orders,
    count(distinct customer_id) as customers,
    sum(amount_paid) as revenue,
    sum(amount_paid) / nullif(count(distinct order_id), 0) as average_order_value
from {{ ref('fct_orders') }}
where status in ('shipped', 'completed')
group by 1
having sum(amount_paid) > 0
