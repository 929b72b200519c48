"""Wire formats: one module per API surface converts to and from Google's JSON.

Builders are pure (Python values in, a JSON body out) and parsers take the
decoded body (with long base64 strings as ``mediagen.blobs.Blob`` handles).
When Google renames a field, exactly one function here changes.
"""
