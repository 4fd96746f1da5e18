// The thread policy and parallel helpers live in the dependency-free `Parallelism` module, the
// JSON helpers in `JSONCore` (so that AuditLog, which knows nothing of imaging, shares them);
// atomic output files in `AtomicFiles`; every importer of VolumeCore sees them as before.
@_exported import AtomicFiles
@_exported import JSONCore
@_exported import Parallelism
