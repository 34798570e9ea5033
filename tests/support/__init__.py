"""What the test suites share: project folders and the CLI runner, the sales warehouse on throwaway databases,
recorded StarRocks answers, the in-memory StarRocks model, local receivers (OTLP, webhooks) and paths."""
