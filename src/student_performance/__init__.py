"""student-performance"""

__version__ = "0.1"
