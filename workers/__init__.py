"""Background workers: the Celery entry point (`celery_app`) and thin tasks (`tasks`)."""
