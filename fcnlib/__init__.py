"""fcnlib: fully convolutional networks for semantic segmentation."""
__version__ = "0.1.0"
