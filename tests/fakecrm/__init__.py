"""Local fake CRM servers for the sync tests: real HTTP on 127.0.0.1, state the tests can change."""
