"""The reporter's pages: the form, the receipt, the status page and the quick exit."""
