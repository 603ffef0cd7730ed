//! Pure mode policy (placeholder until the policy lands).
