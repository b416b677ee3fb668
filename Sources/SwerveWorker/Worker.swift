import SwerveConfig

/// The worker process's entry point. The HTTP engine (SwiftNIO) lands with
/// the worker issue; until then this module only marks its place in the
/// dependency chain CYAML ← SwerveConfig ← SwerveWorker ← SwerveMaster.
public enum Worker {}
