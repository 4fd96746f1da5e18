import VolumeCore
