print("stnfuzz")
