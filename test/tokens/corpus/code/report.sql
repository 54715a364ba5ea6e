-- Monthly revenue per customer segment, with the share of the total and
-- the change from the previous month.
WITH monthly AS (
    SELECT date_trunc('month', o.created_at) AS month,
           c.segment,
           sum(o.amount_cents) / 100.0 AS revenue
    FROM orders o
    JOIN customers c ON c.id = o.customer_id
    WHERE o.status = 'paid'
      AND o.created_at >= now() - interval '12 months'
    GROUP BY 1, 2
)
SELECT month,
       segment,
       revenue,
       round(100.0 * revenue / sum(revenue) OVER (PARTITION BY month), 1) AS pct_of_month,
       revenue - lag(revenue) OVER (PARTITION BY segment ORDER BY month) AS change
FROM monthly
ORDER BY month DESC, revenue DESC;

CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_paid_created_idx
    ON orders (created_at)
    WHERE status = 'paid';
