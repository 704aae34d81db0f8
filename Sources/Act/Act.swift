// Module Act.
