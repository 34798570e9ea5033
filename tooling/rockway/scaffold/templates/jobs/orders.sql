-- Orders changed in the window (rendered with the job's window; `source('app', …)` names the source table).
SELECT o.order_id, o.customer_id, o.currency, o.amount, o.ordered_at, o.updated_at
FROM {{ source('app', 'orders') }} AS o
WHERE {{ window.where('o.updated_at') }}
