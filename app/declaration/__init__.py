"""申报数据包核心：读写数据包、校验代码、审核规则与税额计算。

Pure Python: no Qt, no HTTP, no client state. Shared by the bundled platform (which
audits) and the desktop client (which checks a package before upload).
"""
