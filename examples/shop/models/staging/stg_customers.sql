with source as (
    select * from {{ source('shop', 'customers') }}
),

renamed as (
    select
        id as customer_id,
        lower(trim(email)) as email,
        initcap(first_name) || ' ' || initcap(last_name) as full_name,
        upper(country_code) as country_code,
        created_at as signed_up_at
    from source
    where email not like '%@example.test'  -- internal test accounts
)

select * from renamed
