# No models: the module makes Django send this app post_migrate, after every other app's (apps.py).
