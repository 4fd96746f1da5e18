import STNCommands
STNReg.main()
