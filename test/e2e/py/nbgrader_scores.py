"""Print the scores nbgrader's database holds, as JSON, read through nbgrader's Gradebook API.

    nbgrader_scores.py COURSE_DIR

{"ASSIGNMENT": {"STUDENT": {"total": [score, max], "cells": {"GRADE_ID": [score, max]}}}}
Run in COURSE_DIR's parent or anywhere: the database is COURSE_DIR/gradebook.db.
"""
import json
import os
import sys

from nbgrader.api import Gradebook

course = sys.argv[1]
out = {}
with Gradebook("sqlite:///" + os.path.join(course, "gradebook.db")) as gb:
    for assignment in gb.assignments:
        for submission in assignment.submissions:
            cells = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = [grade.score, grade.max_score]
            out.setdefault(assignment.name, {})[submission.student.id] = {
                "total": [submission.score, submission.max_score],
                "cells": cells,
            }
print(json.dumps(out, ensure_ascii=False))
