print("misc-train-text: not built yet")
