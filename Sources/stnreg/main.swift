import STNCommands
import VolumeCore

MemoryPolicy.keepFreedMemory()
STNReg.main()
