-- Successful payments per order, pivoted by method.
select
    order_id,
    sum(case when payment_method = 'card' then amount else 0 end) as card_amount,
    sum(case when payment_method = 'gift_card' then amount else 0 end) as gift_card_amount,
    sum(amount) as total_paid
from {{ ref('stg_payments') }}
where payment_status = 'success'
group by order_id
