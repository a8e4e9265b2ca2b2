"""Users (custom model, e-mail login), roles, two-factor enforcement, profiles; wallets arrive with KYC."""
