"""Face-part segmentation with a U-Net, optionally on PDR-pretrained encoders."""
