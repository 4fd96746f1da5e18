import Foundation
print("stnbench")
