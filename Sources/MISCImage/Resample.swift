/// Deterministic image resizing: integer arithmetic and IEEE-exact basic float operations only,
/// so every machine produces the same bytes.
public enum Resample {}
