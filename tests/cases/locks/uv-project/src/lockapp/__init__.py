import six

GREETING = "hello from lockapp " + six.__version__
