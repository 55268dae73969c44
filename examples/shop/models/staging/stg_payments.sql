select
    id as payment_id,
    order_id,
    payment_method,
    amount_cents / 100.0 as amount,
    status as payment_status,
    created_at as paid_at
from {{ source('shop', 'payments') }}
