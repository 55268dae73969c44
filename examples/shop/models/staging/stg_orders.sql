select
    id as order_id,
    customer_id,
    ordered_at,
    status
from {{ source('shop', 'orders') }}
where status != 'test'
