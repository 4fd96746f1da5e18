import VolumeCore
import CFFTW
