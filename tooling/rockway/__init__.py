"""rockway: schema migrations, ETL jobs and data verification for StarRocks."""

__version__ = "0.1.0"
