/// The one place the version lives: `swerve --version`, `Server:` stays bare
/// (as nginx's `server_tokens off`), CGI's `SERVER_SOFTWARE` is `swerve/X.Y.Z`.
public enum SwerveVersion {
    public static let string = "0.1.0"
}
