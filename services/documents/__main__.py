from services.documents.main import main

main()
