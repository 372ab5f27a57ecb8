-- The drill's application database, "shop": a small web shop with customers, products, orders
-- and account balances. Only primary keys are indexed, so nothing here is flagged on its own.
CREATE TABLE customers (
  id         int PRIMARY KEY,
  email      text NOT NULL,
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO customers (id, email, name, created_at)
SELECT g, 'customer' || g || '@example.com', 'Customer ' || g, now() - g * interval '3 hours'
FROM generate_series(1, 1000) g;

CREATE TABLE products (
  id     int PRIMARY KEY,
  title  text NOT NULL,
  price  numeric(10, 2) NOT NULL
);
INSERT INTO products SELECT g, 'Product ' || g, round((random() * 200 + 1)::numeric, 2) FROM generate_series(1, 200) g;

CREATE TABLE orders (
  id          int PRIMARY KEY,
  customer_id int NOT NULL REFERENCES customers (id),
  status      text NOT NULL,
  placed_at   timestamptz NOT NULL
);
INSERT INTO orders
SELECT g, 1 + (g * 7) % 1000, (ARRAY['paid', 'shipped', 'delivered', 'cancelled'])[1 + g % 4], now() - g * interval '20 minutes'
FROM generate_series(1, 5000) g;

CREATE TABLE order_items (
  order_id   int NOT NULL REFERENCES orders (id),
  line       int NOT NULL,
  product_id int NOT NULL REFERENCES products (id),
  quantity   int NOT NULL,
  PRIMARY KEY (order_id, line)
);
INSERT INTO order_items
SELECT o, l, 1 + (o * 13 + l) % 200, 1 + (o + l) % 3 FROM generate_series(1, 5000) o, generate_series(1, 3) l;

CREATE TABLE accounts (
  id      int PRIMARY KEY,
  owner   text NOT NULL,
  balance numeric(12, 2) NOT NULL
);
INSERT INTO accounts SELECT g, 'Customer ' || g, 100 FROM generate_series(1, 100) g;

ANALYZE;
