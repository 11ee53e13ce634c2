"""The champion gate: should this candidate model replace the champion?"""
