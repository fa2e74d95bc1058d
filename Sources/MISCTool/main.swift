print("misc")
