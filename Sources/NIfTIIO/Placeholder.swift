import VolumeCore
internal import CNIfTI
