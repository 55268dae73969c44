{{ config(materialized='incremental', unique_key='order_id') }}

with orders as (
    select * from {{ ref('stg_orders') }}
),

payments as (
    select * from {{ ref('int_order_payments') }}
),

lines as (
    select order_id, count(*) as line_count, sum(line_amount) as order_amount
    from {{ ref('int_order_lines') }}
    group by order_id
)

select
    orders.order_id,
    orders.customer_id,
    orders.ordered_at,
    orders.status,
    lines.line_count,
    lines.order_amount,
    coalesce(payments.total_paid, 0) as amount_paid,
    case
        when coalesce(payments.total_paid, 0) >= lines.order_amount then 'paid'
        when coalesce(payments.total_paid, 0) > 0 then 'partially_paid'
        else 'unpaid'
    end as payment_state
from orders
left join payments on payments.order_id = orders.order_id
left join lines on lines.order_id = orders.order_id
{% if is_incremental() %}
where orders.ordered_at > (select max(ordered_at) from {{ this }})
{% endif %}
