"""A release's files: HTML and PDF (`render`), the words (`narrative`), charts, CSV and JSON
(`export`), and the signed manifest (`manifest`)."""
