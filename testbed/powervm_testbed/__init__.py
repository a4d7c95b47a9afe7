"""A real Neutron (API + RPC server) on MariaDB/PostgreSQL and RabbitMQ for demos and e2e tests."""
