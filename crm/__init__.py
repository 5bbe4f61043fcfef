"""Live CRM sync (DESIGN §3b): one engine (`crm.engine`) and one module per CRM connector.

A connector only reads pages of records; the engine writes them through the importer's model, one transaction
per page, and moves each object's watermark only when its page has committed.
"""
