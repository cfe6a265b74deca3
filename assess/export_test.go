package assess

// SaveStatements is how many batch UPDATEs s has written (PostgreSQL).
func SaveStatements(s *Service) int64 { return s.saves.statements.Load() }
