"""APScheduler wiring, jobs, leader lock and delivery ledger."""
