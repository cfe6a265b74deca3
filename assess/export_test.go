package assess

import "database/sql"

// SaveStatements is how many batch UPDATEs s has written (PostgreSQL).
func SaveStatements(s *Service) int64 { return s.saves.writer.Batches() }

// FailSaveBatches makes every batch of saves fail from now on, as a batch
// that loses a deadlock to another instance's does: its statement runs on
// a closed pool.
func FailSaveBatches(s *Service) error {
	closed, err := sql.Open("pgx", "postgres://127.0.0.1:1/none")
	if err != nil {
		return err
	}
	s.saves.db = closed
	return closed.Close()
}

// SaveSQL is the batch UPDATE of n saves.
func SaveSQL(n int) string { return saveSQL(n) }
