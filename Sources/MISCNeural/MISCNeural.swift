/// CPU inference for the map encoder: knows nothing of codecs.
