"""The index file: a plain SQLite database a user can open with sqlite-utils or Datasette."""

import sqlite3


def test_the_sqlite_file_stays_a_plain_database(index_path):
    conn = sqlite3.connect(index_path)
    tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    assert {"articles", "sentences", "postings", "article_postings", "arrays", "meta"} <= tables
