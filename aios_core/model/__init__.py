"""The AiOS network: backbone, deformable transformer, prediction heads."""
