select
    customer_id,
    lifetime_value,
    order_count,
    case
        when lifetime_value >= 1000 then 'vip'
        when order_count >= 3 then 'loyal'
        when order_count = 0 then 'prospect'
        else 'occasional'
    end as segment
from {{ ref('dim_customers') }}
