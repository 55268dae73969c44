select
    i.order_id,
    i.product_id,
    p.product_name,
    p.category,
    i.quantity,
    i.unit_price,
    i.quantity * i.unit_price as line_amount
from {{ ref('stg_order_items') }} as i
join {{ ref('stg_products') }} as p on p.product_id = i.product_id
