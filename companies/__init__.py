"""Companies (the issuer of shares and tokens), team memberships, invitations and public raise pages."""
