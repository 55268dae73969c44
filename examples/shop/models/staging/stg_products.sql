select
    id as product_id,
    name as product_name,
    category,
    price_cents / 100.0 as list_price
from {{ source('shop', 'products') }}
where not is_archived
